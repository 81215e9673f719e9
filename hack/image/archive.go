package main

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// writeLayout replaces dir with an OCI image layout holding idx under the reference name
// (e.g. ghcr.io/kubeship/kubeship:v1.2.3), which tools that load OCI layouts read.
func writeLayout(dir string, idx v1.ImageIndex, name string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	annotations := map[string]string{"io.containerd.image.name": name}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		annotations["org.opencontainers.image.ref.name"] = name[i+1:]
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(annotations)); err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	return nil
}

// writeArchive packs the layout in dir into the tar file out (an "OCI archive"), with
// files in lexical order and fixed owners and times so equal layouts give equal bytes.
func writeArchive(dir, out string, mtime time.Time) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	// WalkDir visits entries in lexical order.
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Mode: 0o644, Format: tar.FormatUSTAR}
		if d.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
			return tw.WriteHeader(h)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return tw.Close()
}
