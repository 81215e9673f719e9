package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// profileChunk is how long each CPU profile runs: short enough that the last one ends
// soon after its side does, and under kube-apiserver's request timeout. `go tool pprof`
// merges the chunks of a side given together.
const profileChunk = 10 * time.Second

// cpuProfiles records CPU profiles of kube-apiserver (and of the manager) back to back
// over one side of a round, for `go tool pprof -diff_base`: where each side's CPU goes,
// not only how much.
type cpuProfiles struct {
	// stop is nil when no profiles are recorded.
	stop context.CancelFunc
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

// profileRound starts the profiles of one side (floor or kubeship) of a mix's first
// round at its first write; wait ends them. Without -profile, and in later rounds, it
// does nothing.
func (b *bench) profileRound(ctx context.Context, m mix, round int, side string) *cpuProfiles {
	p := &cpuProfiles{}
	if !b.cfg.profile || round > 0 {
		return p
	}
	ctx, p.stop = context.WithCancel(ctx)
	seconds := strconv.Itoa(int(profileChunk / time.Second))
	dir := filepath.Join(b.cfg.out, "profiles")
	p.record(ctx, filepath.Join(dir, m.name+"-"+side+"-kube-apiserver"), func() ([]byte, error) {
		// Not ctx: a chunk under way is finished, not lost.
		return b.cs.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", seconds).DoRaw(context.Background())
	})
	if side == "kubeship" {
		p.record(ctx, filepath.Join(dir, m.name+"-"+side+"-manager"), func() ([]byte, error) {
			resp, err := http.Get("http://" + b.mgr.pprof + "/debug/pprof/profile?seconds=" + seconds)
			if err != nil {
				return nil, err
			}
			defer func() { _ = resp.Body.Close() }()
			return io.ReadAll(resp.Body)
		})
	}
	return p
}

// record writes profiles from get to prefix-01.pprof, prefix-02.pprof, ... until ctx ends.
func (p *cpuProfiles) record(ctx context.Context, prefix string, get func() ([]byte, error)) {
	p.wg.Go(func() {
		for i := 1; ctx.Err() == nil; i++ {
			raw, err := get()
			if err == nil {
				if err = os.MkdirAll(filepath.Dir(prefix), 0o755); err == nil {
					err = os.WriteFile(fmt.Sprintf("%s-%02d.pprof", prefix, i), raw, 0o644)
				}
			}
			if err != nil {
				p.mu.Lock()
				p.errs = append(p.errs, fmt.Errorf("CPU profile %s: %w", prefix, err))
				p.mu.Unlock()
				return
			}
		}
	})
}

// wait ends the profiles once the chunks under way are written.
func (p *cpuProfiles) wait() error {
	if p.stop == nil {
		return nil
	}
	p.stop()
	p.wg.Wait()
	if len(p.errs) > 0 {
		return p.errs[0]
	}
	logf("CPU profiles written")
	return nil
}
