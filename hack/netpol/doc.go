// Package netpol evaluates the NetworkPolicies kubeship builds with an upstream
// network-policy evaluator, cyclonus's matcher (github.com/mattfenwick/cyclonus), since
// the local cluster (KWOK) enforces none. It is a module of its own so that the
// evaluator's dependencies stay out of kubeship's go.mod; `make test-unit` runs it.
package netpol
