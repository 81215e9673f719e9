package testdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Where Debian's mariadb-server puts the server and its data-directory initialiser.
var (
	mariadbdCandidates  = []string{"/usr/sbin/mariadbd", "/usr/sbin/mysqld"}
	installDBCandidates = []string{"/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"}
)

// maxSocketPath is below the 108-byte limit of a Unix socket path.
const maxSocketPath = 100

type mariaBinaries struct{ server, installDB string }

// findMariaDB looks for mariadbd and mariadb-install-db in Debian's places, then in $PATH.
// Oracle MySQL's mysqld initialises differently (--initialize) and is not supported here.
func findMariaDB() (mariaBinaries, error) {
	server := firstExecutable(mariadbdCandidates, "mariadbd", "mysqld")
	installDB := firstExecutable(installDBCandidates, "mariadb-install-db", "mysql_install_db")
	if server == "" || installDB == "" {
		return mariaBinaries{}, errors.New("testdb: MariaDB server binaries (mariadbd, mariadb-install-db) not found in " +
			"/usr/sbin, /usr/bin or $PATH: install them with `apt-get install -y mariadb-server` (Debian/Ubuntu)")
	}
	return mariaBinaries{server: server, installDB: installDB}, nil
}

func firstExecutable(paths []string, names ...string) string {
	for _, p := range paths {
		if isExecutable(p) {
			return p
		}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// NewMySQL starts a MariaDB server; the caller must Stop it. Most tests want StartMySQL or
// Shared instead.
func NewMySQL() (*Server, error) {
	maria := flavour{engine: EngineMySQL, osUser: "mysql", aptPackage: "mariadb-server", dirPrefix: "kubeship-my-"}
	return newServer(maria, findMariaDB)
}

func (bins mariaBinaries) serverPath() string { return bins.server }

func (bins mariaBinaries) start(s *Server, acct account) error {
	data, socket, tmp := filepath.Join(s.dir, "data"), filepath.Join(s.dir, "mysqld.sock"), filepath.Join(s.dir, "tmp")
	if len(socket) > maxSocketPath {
		return fmt.Errorf("testdb: socket path %q is too long for a Unix socket; set TMPDIR to a shorter directory", socket)
	}
	// A private tmpdir: at start-up mariadbd deletes the #sql* files it finds in its tmpdir,
	// which breaks another server initialising in a shared /tmp at the same moment.
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("testdb: %w", err)
	}
	if err := acct.chown(tmp); err != nil {
		return err
	}
	// "normal" root authentication: root@localhost without a password, reachable only through
	// the socket in our private directory. The admin account is made below, once the server runs
	// (the bootstrap mode cannot run CREATE USER).
	err := runTool(acct, s.dir, 2*time.Minute, bins.installDB, "--no-defaults", "--datadir="+data, "--tmpdir="+tmp,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve")
	if err != nil {
		return err
	}
	certPath, keyPath, err := s.makeCerts(acct)
	if err != nil {
		return err
	}
	launch := s.launcher(acct, syscall.SIGTERM, syscall.SIGKILL, bins.server, func() []string {
		return []string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp, "--port=" + strconv.Itoa(s.Port),
			"--bind-address=127.0.0.1", "--socket=" + socket, "--pid-file=" + filepath.Join(s.dir, "mysqld.pid"),
			"--skip-name-resolve", "--skip-log-bin", "--ssl-cert=" + certPath, "--ssl-key=" + keyPath,
			"--innodb-buffer-pool-size=32M", "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0"}
	})
	err = s.startOnFreePort("mariadbd", launch, func(ctx context.Context) error { return pingRootSocket(ctx, socket) })
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := createMySQLAdmin(ctx, socket, s.User, s.Password); err != nil {
		return fmt.Errorf("testdb: creating the MariaDB admin account: %w", err)
	}
	if err := pingMySQLAdmin(ctx, s); err != nil {
		return fmt.Errorf("testdb: MariaDB admin login over TCP: %w", err)
	}
	return nil
}

func rootSocketDB(socket string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "unix", socket
	cfg.InterpolateParams = true
	cfg.Timeout = 2 * time.Second
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

func pingRootSocket(ctx context.Context, socket string) error {
	db, err := rootSocketDB(socket)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// createMySQLAdmin makes the admin account and removes the accounts mariadb-install-db makes
// that would let anyone in over TCP without a password (root@127.0.0.1, root@::1, root@<host>).
func createMySQLAdmin(ctx context.Context, socket, user, password string) error {
	db, err := rootSocketDB(socket)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE USER ?@'%' IDENTIFIED BY ?", user, password); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", user); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, "SELECT User, Host FROM mysql.user WHERE User = '' OR (User = 'root' AND Host <> 'localhost')")
	if err != nil {
		return err
	}
	var accounts [][2]string
	for rows.Next() {
		var a [2]string
		if err := rows.Scan(&a[0], &a[1]); err != nil {
			rows.Close()
			return err
		}
		accounts = append(accounts, a)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, a := range accounts {
		if _, err := db.ExecContext(ctx, "DROP USER ?@?", a[0], a[1]); err != nil {
			return err
		}
	}
	return nil
}

func pingMySQLAdmin(ctx context.Context, s *Server) error {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = s.User, s.Password, "tcp", s.Addr()
	cfg.Timeout = 5 * time.Second
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	return db.PingContext(ctx)
}
