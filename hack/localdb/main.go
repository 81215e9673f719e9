// Command localdb keeps the local PostgreSQL server that `make run` registers as a shared
// DatabaseServer. It is internal/testdb's server, kept instead of thrown away: its data and
// admin password live in a directory of the local cluster, and it runs until stopped.
//
//	localdb up   --dir DIR --port PORT   start it (or find it running) on 127.0.0.1:PORT
//	localdb down --dir DIR [--wipe]      stop it; --wipe also removes everything it kept
//
// The admin account is in DIR/username and DIR/password.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kubeship/kubeship/internal/testdb"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet("localdb "+os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", "", "directory the server is kept in")
	port := fs.Int("port", 0, "port on 127.0.0.1 (up)")
	wipe := fs.Bool("wipe", false, "remove the server's data and account too (down)")
	_ = fs.Parse(os.Args[2:])
	if *dir == "" {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "up":
		var s *testdb.Server
		if s, err = testdb.KeepPostgres(*dir, *port); err == nil {
			fmt.Printf("PostgreSQL %s on %s\n", s.Version, s.Addr())
		}
	case "down":
		err = testdb.StopKept(*dir, *wipe)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: localdb up --dir DIR --port PORT | localdb down --dir DIR [--wipe]")
	os.Exit(2)
}
