package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// NonRoot is the user and group the manager runs as: distroless' "nonroot".
const NonRoot = 65532

// CACertificates is where Go (and the distroless images) look for the trust store.
const CACertificates = "etc/ssl/certs/ca-certificates.crt"

// The account databases of a distroless nonroot image, reduced to what names the users a
// process in this image can have: root (owner of every file) and nonroot (the manager).
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\n" +
		"nonroot:x:65532:\n"
)

// entry is one file or directory of the image's filesystem.
type entry struct {
	name     string // relative, no leading slash; directories end in "/"
	mode     int64
	uid, gid int
	data     []byte
}

// rootFS lists the whole filesystem of the image: the manager binary, the account files,
// the CA certificates when caFile is not empty, and nonroot's home. Nothing else: no shell,
// no package database, no /tmp (the manager writes no file).
func rootFS(manager []byte, caFile string) ([]entry, error) {
	entries := []entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "home/", mode: 0o755},
		{name: "home/nonroot/", mode: 0o700, uid: NonRoot, gid: NonRoot},
		{name: "manager", mode: 0o755, data: manager},
	}
	if caFile != "" {
		ca, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading CA certificates: %w", err)
		}
		entries = append(entries,
			entry{name: "etc/ssl/", mode: 0o755},
			entry{name: "etc/ssl/certs/", mode: 0o755},
			entry{name: CACertificates, mode: 0o644, data: ca})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}

// layerTar writes entries as an uncompressed tar whose bytes depend only on the entries
// and mtime: fixed order, owners by number, no user or group names, no access times.
func layerTar(entries []entry, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: mtime,
			Format:  tar.FormatUSTAR,
		}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("writing %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
