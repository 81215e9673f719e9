package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Stamped by the test, so every value checked below comes from these inputs.
const (
	testVersion = "v9.8.7-imagetest"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
	testEpoch   = "1700000000"
	testDate    = "2023-11-14T22:13:20Z" // testEpoch in RFC 3339
	testImage   = "ghcr.io/kubeship/kubeship:" + testVersion
)

// built is the image TestImage checks and TestImageReproducible compares with: each
// `make image` relinks the manager, so the package builds it once for both.
var built struct {
	sync.Once
	dir string
	err error
}

func sharedImage(t *testing.T) string {
	t.Helper()
	built.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "kubeship-image-")
		if built.err == nil {
			built.err = makeImage(built.dir)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// makeImage runs `make image` for the host's platform into dir, as a user would.
func makeImage(dir string) error {
	cmd := exec.Command("make", "-C", "../..", "--no-print-directory", "image",
		"IMAGE_DIR="+dir, "PLATFORMS=linux/"+runtime.GOARCH, "VERSION="+testVersion,
		"GIT_COMMIT="+testCommit, "SOURCE_DATE_EPOCH="+testEpoch, "BUILD_DATE="+testDate, "IMG="+testImage)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make image: %w\n%s", err, out)
	}
	return nil
}

// extract unpacks the OCI archive into a directory that go-containerregistry reads as a layout.
func extract(t *testing.T, archive string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// layerFiles reads a layer's tar: headers by name, and the contents of regular files.
func layerFiles(t *testing.T, l v1.Layer) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	headers, data := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return headers, data
		}
		if err != nil {
			t.Fatal(err)
		}
		headers[h.Name] = h
		if h.Typeflag == tar.TypeReg {
			if data[h.Name], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestImage(t *testing.T) {
	dir := sharedImage(t)
	root, err := layout.ImageIndexFromPath(extract(t, filepath.Join(dir, "kubeship-manager.tar")))
	if err != nil {
		t.Fatalf("reading the archive as an OCI layout: %v", err)
	}
	top, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Manifests) != 1 || top.Manifests[0].Annotations["io.containerd.image.name"] != testImage ||
		top.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != testVersion {
		t.Fatalf("layout index: want one entry named %s, got %+v", testImage, top.Manifests)
	}
	idx, err := root.ImageIndex(top.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex || len(im.Manifests) != 1 {
		t.Fatalf("want an OCI index of one platform, got %s with %d", im.MediaType, len(im.Manifests))
	}
	desc := im.Manifests[0]
	if p := desc.Platform; p == nil || p.OS != "linux" || p.Architecture != runtime.GOARCH {
		t.Fatalf("platform: want linux/%s, got %+v", runtime.GOARCH, desc.Platform)
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, img)
	checkFilesystem(t, img)
}

func checkConfig(t *testing.T, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("user: want 65532:65532, got %q", c.User)
	}
	if strings.Join(c.Entrypoint, " ") != "/manager" || len(c.Cmd) != 0 {
		t.Errorf("entrypoint: want [/manager] and no cmd, got %q %q", c.Entrypoint, c.Cmd)
	}
	if c.WorkingDir != "/" {
		t.Errorf("working dir: want /, got %q", c.WorkingDir)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("config platform: want linux/%s, got %s/%s", runtime.GOARCH, cf.OS, cf.Architecture)
	}
	if got := cf.Created.UTC().Format("2006-01-02T15:04:05Z"); got != testDate {
		t.Errorf("created: want %s (SOURCE_DATE_EPOCH), got %s", testDate, got)
	}
	want := map[string]string{
		"org.opencontainers.image.title":       "kubeship",
		"org.opencontainers.image.description": "kubeship operator manager",
		"org.opencontainers.image.version":     testVersion,
		"org.opencontainers.image.revision":    testCommit,
		"org.opencontainers.image.created":     testDate,
		"org.opencontainers.image.source":      "https://github.com/kubeship/kubeship",
	}
	if len(c.Labels) != len(want) {
		t.Errorf("labels: want %v, got %v", want, c.Labels)
	}
	for k, v := range want {
		if c.Labels[k] != v {
			t.Errorf("label %s: want %q, got %q", k, v, c.Labels[k])
		}
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("want an OCI manifest and config, got %s, %s", m.MediaType, m.Config.MediaType)
	}
	if len(cf.RootFS.DiffIDs) != 1 || len(cf.History) != 1 {
		t.Errorf("want exactly one layer and one history entry, got %d and %d", len(cf.RootFS.DiffIDs), len(cf.History))
	}
}

func checkFilesystem(t *testing.T, img v1.Image) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("want exactly one layer, got %d", len(layers))
	}
	if mt, _ := layers[0].MediaType(); mt != types.OCILayer {
		t.Errorf("layer media type: want %s, got %s", types.OCILayer, mt)
	}
	headers, data := layerFiles(t, layers[0])

	want := []string{"etc/", "etc/group", "etc/passwd", "home/", "home/nonroot/", "manager"}
	if _, err := os.Stat(defaultCAFile); err == nil {
		want = append(want, "etc/ssl/", "etc/ssl/certs/", CACertificates)
	}
	got := make([]string, 0, len(headers))
	for name := range headers {
		got = append(got, name)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("filesystem: want exactly %v, got %v", want, got)
	}
	for name, h := range headers {
		if base := filepath.Base(strings.TrimSuffix(name, "/")); base == "sh" || base == "bash" || base == "ash" || base == "busybox" {
			t.Errorf("a shell in the image: %s", name)
		}
		if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink {
			t.Errorf("unexpected link %s -> %s", name, h.Linkname)
		}
	}
	if h := headers["manager"]; h == nil || h.Uid != 0 || h.Mode != 0o755 {
		t.Errorf("/manager: want root-owned, mode 0755, got %+v", h)
	}
	if h := headers["home/nonroot/"]; h == nil || h.Uid != NonRoot || h.Gid != NonRoot {
		t.Errorf("/home/nonroot: want owned by 65532:65532, got %+v", h)
	}
	if !strings.Contains(string(data["etc/passwd"]), "nonroot:x:65532:65532:") ||
		!strings.Contains(string(data["etc/group"]), "nonroot:x:65532:") {
		t.Errorf("no nonroot 65532 account:\n%s\n%s", data["etc/passwd"], data["etc/group"])
	}
	checkBinary(t, data["manager"])
}

// checkBinary asserts the manager is a static ELF (no interpreter, no dynamic section)
// and that it reports the stamped build identity.
func checkBinary(t *testing.T, binary []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		t.Fatalf("/manager is not ELF: %v", err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("/manager is dynamically linked: has %s", p.Type)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Errorf("/manager has a .dynamic section")
	}
	path := filepath.Join(t.TempDir(), "manager")
	if err := os.WriteFile(path, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("manager --version: %v\n%s", err, out)
	}
	want := "version: " + testVersion + "\ncommit: " + testCommit + "\nbuilt: " + testDate +
		"\ngo: " + runtime.Version() + "\nplatform: linux/" + runtime.GOARCH + "\n"
	if string(out) != want {
		t.Errorf("manager --version:\nwant %q\ngot  %q", want, out)
	}
}

// The same inputs give the same bytes, so the same digest: nothing depends on the time,
// the directory or the order of the build.
func TestImageReproducible(t *testing.T) {
	sum := func(dir string) [32]byte {
		data, err := os.ReadFile(filepath.Join(dir, "kubeship-manager.tar"))
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(data)
	}
	again := t.TempDir()
	if err := makeImage(again); err != nil {
		t.Fatal(err)
	}
	if a, b := sum(sharedImage(t)), sum(again); a != b {
		t.Errorf("two builds from the same inputs differ: %x and %x", a, b)
	}
}
