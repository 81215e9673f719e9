// Command kubectl-kubeship is kubeship's kubectl plugin: with the binary on the PATH,
// `kubectl kubeship graph -A` prints the service graph (see internal/kubectlplugin).
// `make kubectl-kubeship` builds it into ./bin.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/kubeship/kubeship/internal/kubectlplugin"
)

func main() {
	if err := kubectlplugin.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, kubectlplugin.ErrUsage) {
			fmt.Fprintln(os.Stderr, "kubectl kubeship:", err)
		}
		os.Exit(1)
	}
}
