package main

import (
	"context"
	"fmt"
	"time"
)

const (
	// quietCores is the CPU (all of cpuProcesses together) under which the cluster
	// counts as done with what came before: the previous side's namespace deletion
	// ends when the namespace is gone, but the controllers, etcd and the API server's
	// collector can go on with it for a while, and a side started meanwhile pays for it.
	quietCores = 0.3
	// quietSample is how long each reading of the CPU lasts.
	quietSample = 2 * time.Second
	// quietLimit bounds the wait; a cluster still busy then is measured as it is.
	quietLimit = 3 * time.Minute
)

// quiet is how a side's wait for a quiet cluster went.
type quiet struct {
	waited time.Duration
	// cores is the CPU of the last reading, the one the side started after.
	cores float64
}

func (q quiet) String() string {
	return fmt.Sprintf("quiet after %.0f s at %.2f cores", q.waited.Seconds(), q.cores)
}

// waitQuiet waits until the cluster's processes together use less than quietCores over
// quietSample, at most quietLimit, and reports how long that took.
func (b *bench) waitQuiet(ctx context.Context, side string) (quiet, error) {
	start := time.Now()
	before := readProcessCPU()
	for {
		select {
		case <-ctx.Done():
			return quiet{}, ctx.Err()
		case <-time.After(quietSample):
		}
		now := readProcessCPU()
		q := quiet{waited: time.Since(start), cores: now.since(before).total() / quietSample.Seconds()}
		if q.cores < quietCores || q.waited >= quietLimit {
			logf("%s starts after %s waiting for a quiet cluster (%.2f cores)", side, q.waited.Round(time.Second), q.cores)
			return q, nil
		}
		before = now
	}
}
