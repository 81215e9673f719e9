package testdb

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgBinGlob is where Debian's postgresql-NN packages put their server binaries.
var pgBinGlob = "/usr/lib/postgresql/*/bin"

// pgBinDirEnv names a directory holding initdb and postgres, for machines that keep them
// elsewhere (other distributions, a source build).
const pgBinDirEnv = "KUBESHIP_TESTDB_PG_BINDIR"

const adminUser = "kubeship_admin"

type pgBinaries struct{ initdb, postgres string }

// findPostgres looks for initdb and postgres: in $KUBESHIP_TESTDB_PG_BINDIR, then the newest
// /usr/lib/postgresql/<version>/bin, then $PATH.
func findPostgres() (pgBinaries, error) {
	var dirs []string
	if dir := os.Getenv(pgBinDirEnv); dir != "" {
		dirs = append(dirs, dir)
	}
	versioned, _ := filepath.Glob(pgBinGlob)
	sort.Slice(versioned, func(i, j int) bool { return pgDirVersion(versioned[i]) > pgDirVersion(versioned[j]) })
	dirs = append(dirs, versioned...)
	for _, dir := range dirs {
		b := pgBinaries{initdb: filepath.Join(dir, "initdb"), postgres: filepath.Join(dir, "postgres")}
		if isExecutable(b.initdb) && isExecutable(b.postgres) {
			return b, nil
		}
	}
	initdb, err1 := exec.LookPath("initdb")
	postgres, err2 := exec.LookPath("postgres")
	if err1 == nil && err2 == nil {
		return pgBinaries{initdb: initdb, postgres: postgres}, nil
	}
	return pgBinaries{}, fmt.Errorf("testdb: PostgreSQL server binaries (initdb, postgres) not found in %s or $PATH: "+
		"install them with `apt-get install -y postgresql` (Debian/Ubuntu), or point %s at their directory",
		pgBinGlob, pgBinDirEnv)
}

// pgDirVersion returns the major version in /usr/lib/postgresql/<version>/bin, or 0.
func pgDirVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// NewPostgres starts a PostgreSQL server; the caller must Stop it. Most tests want
// StartPostgres or Shared instead.
func NewPostgres() (*Server, error) {
	pg := flavour{engine: EnginePostgres, osUser: "postgres", aptPackage: "postgresql", dirPrefix: "kubeship-pg-"}
	return newServer(pg, findPostgres)
}

func (bins pgBinaries) serverPath() string { return bins.postgres }

func (bins pgBinaries) start(s *Server, acct account) error {
	if err := bins.initDataDir(s, acct); err != nil {
		return err
	}
	// No fsync: the data is thrown away. SIGQUIT (immediate shutdown) if the test binary dies.
	launch, err := bins.launcher(s, acct, syscall.SIGQUIT,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	if err != nil {
		return err
	}
	return s.startOnFreePort("postgres", launch, func(ctx context.Context) error { return pingPostgres(ctx, s) })
}

// initDataDir runs initdb on s.dir/data with s's admin account and password.
func (bins pgBinaries) initDataDir(s *Server, acct account) error {
	pwFile, data := filepath.Join(s.dir, "pwfile"), filepath.Join(s.dir, "data")
	if err := acct.writeFile(pwFile, []byte(s.Password+"\n")); err != nil {
		return err
	}
	// scram-sha-256 for every connection (local and host), as on a real server.
	err := runTool(acct, s.dir, 2*time.Minute, bins.initdb, "-D", data, "-U", s.User, "--pwfile="+pwFile,
		"--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync")
	os.Remove(pwFile)
	return err
}

// launcher writes a fresh certificate for s and returns what starts postgres on s.dir/data at
// s.Port, listening on 127.0.0.1 only, with TLS. deathSignal (0: none) reaches the server when
// the process that started it dies.
func (bins pgBinaries) launcher(s *Server, acct account, deathSignal syscall.Signal, settings ...string) (func() (*process, error), error) {
	certPath, keyPath, err := s.makeCerts(acct)
	if err != nil {
		return nil, err
	}
	// SIGINT is PostgreSQL's fast shutdown.
	return s.launcher(acct, syscall.SIGINT, deathSignal, bins.postgres, func() []string {
		return append([]string{"-D", filepath.Join(s.dir, "data"), "-p", strconv.Itoa(s.Port),
			"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + s.dir,
			"-c", "ssl=on", "-c", "ssl_cert_file=" + certPath, "-c", "ssl_key_file=" + keyPath}, settings...)
	}), nil
}

// pingPostgres logs in as the admin over TCP.
func pingPostgres(ctx context.Context, s *Server) error {
	u := url.URL{Scheme: "postgres", User: url.User(s.User), Host: s.Addr(), Path: "/postgres", RawQuery: "sslmode=disable"}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return err
	}
	cfg.Password = s.Password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// binaryVersion runs `<binary> --version` and returns the version number it prints, e.g.
// "15.18" from "postgres (PostgreSQL) 15.18 (Debian ...)" or "10.11.19-MariaDB-..." from
// "mariadbd  Ver 10.11.19-MariaDB-... for debian-linux-gnu".
func binaryVersion(binary string) string {
	out, err := exec.Command(binary, "--version").Output()
	if err != nil {
		return "unknown"
	}
	fields := strings.Fields(string(out))
	for i, f := range fields {
		if f == "Ver" && i+1 < len(fields) {
			return fields[i+1]
		}
		if f == "(PostgreSQL)" && i+1 < len(fields) {
			return fields[i+1]
		}
	}
	return strings.TrimSpace(string(out))
}
