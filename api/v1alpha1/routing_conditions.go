package v1alpha1

// ConditionRouted is present only with spec.routes: True when every route is served by
// its Gateway (the HTTPRoute is Accepted with ResolvedRefs by each parent) or its
// Ingress controller (the Ingress has a load-balancer address). It does not hold back
// Ready unless spec.readyRequiresRoutes is set.
const ConditionRouted = "Routed"

// Reasons of the Routed condition.
const (
	// ReasonRouted: every route is served.
	ReasonRouted = "Routed"
	// ReasonRoutePending: the route object is written, and its Gateway or Ingress
	// controller has not reported it served yet.
	ReasonRoutePending = "RoutePending"
	// ReasonRouteNotAccepted: a parent Gateway refused the HTTPRoute (Accepted=False),
	// or could not resolve its backend (ResolvedRefs=False); the message has its reason.
	ReasonRouteNotAccepted = "RouteNotAccepted"
	// ReasonGatewayAPINotInstalled: routes name a Gateway, but the cluster does not
	// serve gateway.networking.k8s.io/v1 HTTPRoutes. kubeship checks again when the
	// Gateway API's CRDs are installed.
	ReasonGatewayAPINotInstalled = "GatewayAPINotInstalled"
	// ReasonRouteConflict: another Microservice claims one of the same host and path
	// pairs. The older Microservice (creationTimestamp, then namespace and name) keeps
	// the pair; both report the conflict.
	ReasonRouteConflict = "RouteConflict"
	// ReasonRouteError: kubeship could not write the route object; it retries.
	ReasonRouteError = "RouteError"
	// Routed is also ResourceNotOwned (see the Ready reasons) when an HTTPRoute or
	// Ingress with the Microservice's name exists that kubeship may not write.
)

// ReasonRoutesNotReady is the Ready reason, with spec.readyRequiresRoutes, while the
// Routed condition is not True.
const ReasonRoutesNotReady = "RoutesNotReady"
