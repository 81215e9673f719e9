// Command image assembles the manager's OCI image without a container engine: one layer
// on an empty base (the static binary, the nonroot account, the CA certificates), for one
// or more platforms, written as an OCI layout directory and as an OCI archive (its tar).
//
//	go run ./hack/image -binary linux/amd64=dist/image/linux-amd64/manager -version v1.2.3 \
//	    -revision $(git rev-parse HEAD) -epoch $(git log -1 --format=%ct) -out dist/image
//
// `make image` runs it after building the binaries with the stamped -ldflags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// defaultCAFile is the trust store of Debian, Ubuntu, Alpine and Arch build machines.
const defaultCAFile = "/" + CACertificates

// binaries collects repeated -binary platform=path flags, keeping their order.
type binaries struct {
	order []string
	paths map[string]string
}

func (b *binaries) String() string { return strings.Join(b.order, ",") }

func (b *binaries) Set(v string) error {
	platform, path, ok := strings.Cut(v, "=")
	if !ok || platform == "" || path == "" {
		return fmt.Errorf("want platform=path, got %q", v)
	}
	if _, dup := b.paths[platform]; dup {
		return fmt.Errorf("platform %s given twice", platform)
	}
	b.order = append(b.order, platform)
	b.paths[platform] = path
	return nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("image", flag.ContinueOnError)
	bins := &binaries{paths: map[string]string{}}
	fl.Var(bins, "binary", "platform=path of a static manager binary (repeatable), e.g. linux/arm64=dist/image/linux-arm64/manager")
	var spec Spec
	fl.StringVar(&spec.Version, "version", "", "version label (the one stamped into the binary)")
	fl.StringVar(&spec.Revision, "revision", "", "commit the binary was built from")
	fl.StringVar(&spec.Source, "source", "https://github.com/kubeship/kubeship", "source repository label")
	fl.StringVar(&spec.CAFile, "ca-certificates", defaultCAFile, "CA bundle to include; empty for none (skipped when the default is absent)")
	epoch := fl.Int64("epoch", 0, "creation time and file mtime, in seconds since 1970 (SOURCE_DATE_EPOCH)")
	name := fl.String("name", "ghcr.io/kubeship/kubeship:dev", "image reference recorded in the layout")
	out := fl.String("out", "dist/image", "output directory: <out>/oci (OCI layout) and <out>/kubeship-manager.tar")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if len(bins.order) == 0 || spec.Version == "" || spec.Revision == "" {
		return errors.New("-binary, -version and -revision are required")
	}
	if spec.CAFile == defaultCAFile {
		if _, err := os.Stat(defaultCAFile); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintln(os.Stderr, "image: no", defaultCAFile, "on this machine; the image gets no CA certificates")
			spec.CAFile = ""
		}
	}
	spec.Created = time.Unix(*epoch, 0).UTC()
	spec.Binaries = bins.paths

	idx, err := index(spec, bins.order)
	if err != nil {
		return err
	}
	layoutDir := filepath.Join(*out, "oci")
	if err := writeLayout(layoutDir, idx, *name); err != nil {
		return err
	}
	archive := filepath.Join(*out, "kubeship-manager.tar")
	if err := writeArchive(layoutDir, archive, spec.Created); err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s (%s)\n", archive, digest, strings.Join(bins.order, ", "))
	return nil
}
