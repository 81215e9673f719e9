package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Spec is everything an image is made from; the same Spec (and the same binaries and CA
// file) gives the same digests.
type Spec struct {
	Version  string    // org.opencontainers.image.version
	Revision string    // org.opencontainers.image.revision
	Created  time.Time // image creation time and every file's mtime (SOURCE_DATE_EPOCH)
	Source   string    // org.opencontainers.image.source
	CAFile   string    // the build machine's trust store; empty: none in the image
	// Binaries maps a platform ("linux/amd64") to the static manager built for it.
	Binaries map[string]string
}

// Labels are the OCI annotations the image's config carries.
func (s Spec) Labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "kubeship",
		"org.opencontainers.image.description": "kubeship operator manager",
		"org.opencontainers.image.version":     s.Version,
		"org.opencontainers.image.revision":    s.Revision,
		"org.opencontainers.image.created":     s.Created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.source":      s.Source,
	}
}

// platformImage is the image for one platform: a single layer on an empty base.
func platformImage(s Spec, platform v1.Platform, binary string) (v1.Image, error) {
	manager, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("reading the manager binary: %w", err)
	}
	entries, err := rootFS(manager, s.CAFile)
	if err != nil {
		return nil, err
	}
	data, err := layerTar(entries, s.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression))
	if err != nil {
		return nil, fmt.Errorf("making the layer: %w", err)
	}

	created := v1.Time{Time: s.Created.UTC()}
	cfg := &v1.ConfigFile{
		Architecture: platform.Architecture,
		OS:           platform.OS,
		Variant:      platform.Variant,
		Created:      created,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			User:       strconv.Itoa(NonRoot) + ":" + strconv.Itoa(NonRoot),
			Entrypoint: []string{"/manager"},
			WorkingDir: "/",
			Labels:     s.Labels(),
		},
	}
	if s.CAFile != "" {
		cfg.Config.Env = []string{"SSL_CERT_FILE=/" + CACertificates}
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.ConfigFile(base, cfg)
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   created,
			CreatedBy: "hack/image: /manager, /etc/passwd, /etc/group, CA certificates",
		},
	})
}

// index is the multi-platform image: one manifest per entry of s.Binaries, in the order
// of platforms.
func index(s Spec, platforms []string) (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		platform, err := v1.ParsePlatform(p)
		if err != nil {
			return nil, err
		}
		img, err := platformImage(s, *platform, s.Binaries[p])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: platform}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...), nil
}
