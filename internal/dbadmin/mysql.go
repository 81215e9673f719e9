package dbadmin

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/kubeship/kubeship/internal/naming"
)

type myAdmin struct {
	session
	user string
}

// mysqlConfig builds the driver config. InterpolateParams makes the driver substitute `?`
// itself, with its escaping (it honours NO_BACKSLASH_ESCAPES), so account names and passwords
// can be placeholders in CREATE USER, ALTER USER and GRANT, where server-side prepared
// statements take no parameters. MultiStatements stays off.
func mysqlConfig(cfg Config) *mysql.Config {
	mc := mysql.NewConfig()
	mc.User, mc.Passwd = cfg.Username, cfg.Password
	mc.Net, mc.Addr = "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	mc.Timeout = cfg.connectTimeout()
	mc.InterpolateParams = true
	mc.Logger = &mysql.NopLogger{} // errors are returned; the driver's own log lines go nowhere
	switch cfg.sslMode() {
	case SSLRequire:
		mc.TLS = &tls.Config{InsecureSkipVerify: true} // the driver's tls=skip-verify
	case SSLVerifyFull:
		mc.TLS = &tls.Config{ServerName: cfg.Host, RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12} // tls=true
	}
	return mc
}

func connectMySQL(ctx context.Context, cfg Config) (Admin, error) {
	connector, err := mysql.NewConnector(mysqlConfig(cfg))
	if err != nil {
		return nil, settingsErr(err, cfg.Password)
	}
	a := &myAdmin{session: newSession(connector, cfg), user: cfg.Username}
	if err := a.login(ctx, a.db.PingContext); err != nil {
		return nil, err
	}
	return a, nil
}

// checkMySQLNames applies MySQL's identifier rules: at most 64 characters for a database (32
// for a user), no characters outside the Basic Multilingual Plane, no trailing space in a
// database name, and the database name must still fit in 64 once GRANT's wildcards are escaped.
func checkMySQLNames(db, user string) error {
	if err := errors.Join(checkName("database name", db, 0, naming.MaxMySQLDatabaseLength), checkName("user name", user, 0, naming.MaxMySQLUserLength)); err != nil {
		return err
	}
	for _, n := range [][2]string{{"database name", db}, {"user name", user}} {
		for _, r := range n[1] {
			if r > 0xFFFF {
				return invalidf("%s %q has a character beyond U+FFFF, which MySQL identifiers cannot hold", n[0], n[1])
			}
		}
	}
	switch {
	case db == ownersDB:
		return invalidf("database name %q is kubeship's own", db)
	case strings.HasSuffix(db, " "):
		return invalidf("database name %q ends with a space", db)
	case naming.MySQLGrantLength(db) > naming.MaxMySQLDatabaseLength:
		return invalidf("database name %q takes %d characters in GRANT once `_`, `%%` and `\\` are escaped; MySQL allows %d",
			db, naming.MySQLGrantLength(db), naming.MaxMySQLDatabaseLength)
	}
	return nil
}

func (a *myAdmin) EnsureDatabase(ctx context.Context, db, user, password, owner string) error {
	if err := checkText("password", password); err != nil {
		return err
	}
	conn, userExists, dbExists, err := a.begin(ctx, db, user, owner)
	if err != nil {
		return err
	}
	defer conn.Close()
	exec := a.execOn(conn, password)
	proven := false
	return runSteps(ctx, a.stepHook, []step{
		{"owners-table", func(ctx context.Context) error { return a.ensureOwnersTable(ctx, conn) }},
		{"prove-password", func(ctx context.Context) error {
			// A user and database an older kubeship left without rows are claimed only by
			// logging in as the user with password (claim.go).
			legacy, err := a.legacyClaim(ctx, conn, db, user, owner, userExists, dbExists)
			if err != nil || !legacy {
				return err
			}
			if err := a.provePassword(ctx, db, user, password, owner); err != nil {
				return err
			}
			proven = true
			return nil
		}},
		{"claim", func(ctx context.Context) error {
			// Before anything else is touched: a user or database that exists without our
			// row (unless proven above), or carries another owner's, is refused here.
			return a.claim(ctx, conn, db, user, owner, userExists, dbExists, proven)
		}},
		{"create-user", func(ctx context.Context) error {
			if userExists {
				return nil
			}
			// With its password from the start: a user made without one could log in with
			// none. Not IF NOT EXISTS: a user that appeared since the look was not made here.
			err := exec(ctx, fmt.Sprintf("creating user %q", user), "CREATE USER ?@'%' IDENTIFIED BY ?", user, password)
			if ignoreCode(err, strconv.Itoa(myErrCannotUser)) == nil && err != nil {
				return conflictf("user %q appeared while it was being created; refusing to manage it", user)
			}
			return err
		}},
		{"set-password", func(ctx context.Context) error {
			if err := a.verifyOwner(ctx, conn, kindUser, user, owner, true); err != nil {
				return err
			}
			return exec(ctx, fmt.Sprintf("setting the password of user %q", user), "ALTER USER ?@'%' IDENTIFIED BY ?", user, password)
		}},
		{"create-database", func(ctx context.Context) error {
			if dbExists {
				return nil
			}
			// utf8mb4 explicitly: MariaDB's default character set is still latin1.
			err := exec(ctx, fmt.Sprintf("creating database %q", db), "CREATE DATABASE "+myIdent(db)+" CHARACTER SET utf8mb4")
			if ignoreCode(err, strconv.Itoa(myErrDBExists)) == nil && err != nil {
				return conflictf("database %q appeared while it was being created; refusing to manage it", db)
			}
			return err
		}},
		{"grant", func(ctx context.Context) error {
			return exec(ctx, fmt.Sprintf("granting database %q to user %q", db, user),
				"GRANT ALL PRIVILEGES ON "+myGrantDB(db)+".* TO ?@'%'", user)
		}},
	})
}

func (a *myAdmin) DropDatabase(ctx context.Context, db, user, owner string) error {
	conn, exists, dbExists, err := a.begin(ctx, db, user, owner)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := errors.Join(a.verifyOwner(ctx, conn, kindUser, user, owner, exists), a.verifyOwner(ctx, conn, kindDatabase, db, owner, dbExists)); err != nil {
		return err
	}
	exec := a.execOn(conn)
	return runSteps(ctx, a.stepHook, []step{
		{"drop-user", func(ctx context.Context) error {
			// First, so that the sessions ended next cannot come back.
			if !exists {
				return nil
			}
			return exec(ctx, fmt.Sprintf("dropping user %q", user), "DROP USER IF EXISTS ?@'%'", user)
		}},
		{"end-sessions", func(ctx context.Context) error {
			// A dropped user's sessions live on (with their rights) until they disconnect.
			return a.endSessions(ctx, conn, user)
		}},
		{"drop-database", func(ctx context.Context) error {
			return exec(ctx, fmt.Sprintf("dropping database %q", db), "DROP DATABASE IF EXISTS "+myIdent(db))
		}},
		{"forget", func(ctx context.Context) error { return a.forget(ctx, conn, db, user, owner) }},
	})
}

func (a *myAdmin) endSessions(ctx context.Context, conn *sql.Conn, user string) error {
	op := fmt.Sprintf("ending the sessions of user %q", user)
	rows, err := conn.QueryContext(ctx, "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()", user)
	if err != nil {
		return a.fail(ctx, op, err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return a.fail(ctx, op, err)
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return a.fail(ctx, op, err)
	}
	for _, id := range ids {
		_, err := conn.ExecContext(ctx, "KILL CONNECTION ?", id)
		var myErr *mysql.MySQLError
		if err != nil && (!errors.As(err, &myErr) || myErr.Number != 1094) { // 1094: gone meanwhile
			return a.fail(ctx, op, err)
		}
	}
	return nil
}

// begin checks the names, takes a connection, and finds out whether user@'%' and the
// database exist. It refuses to go on if the user is the admin or holds more than
// database- or table-level grants (we only ever grant ALL on one database). MySQL
// databases have no owner, so unlike PostgreSQL there is nothing to check for the database.
func (a *myAdmin) begin(ctx context.Context, db, user, owner string) (conn *sql.Conn, userExists, dbExists bool, err error) {
	if err := errors.Join(checkMySQLNames(db, user), checkOwner(owner)); err != nil {
		return nil, false, false, err
	}
	conn, err = a.db.Conn(ctx)
	if err != nil {
		return nil, false, false, a.fail(ctx, "connecting as admin", err)
	}
	if userExists, err = a.checkUser(ctx, conn, user); err == nil {
		dbExists, err = a.databaseExists(ctx, conn, db)
	}
	if err != nil {
		conn.Close()
		return nil, false, false, err
	}
	return conn, userExists, dbExists, nil
}

// checkUser tells whether user@'%' exists, refusing the admin and elevated users.
func (a *myAdmin) checkUser(ctx context.Context, conn *sql.Conn, user string) (bool, error) {
	if user == a.user {
		return false, conflictf("user %q is the admin user", user)
	}
	grants, err := showGrants(ctx, conn, user)
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) && myErr.Number == 1141 { // no such grant: the user does not exist
		return false, nil
	}
	if err != nil {
		return false, a.fail(ctx, fmt.Sprintf("reading the grants of user %q", user), err)
	}
	if grantsElevated(grants) {
		return false, conflictf("user %q has server-wide privileges or roles; refusing to manage it", user)
	}
	return true, nil
}

// showGrants returns SHOW GRANTS FOR user@'%'. MariaDB reports a missing user (1141) only
// once the rows are read, MySQL when the query is sent.
func showGrants(ctx context.Context, conn *sql.Conn, user string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "SHOW GRANTS FOR ?@'%'", user)
	if err != nil {
		return nil, err
	}
	var grants []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			rows.Close()
			return nil, err
		}
		grants = append(grants, g)
	}
	return grants, errors.Join(rows.Err(), rows.Close())
}

// grantsElevated reports whether SHOW GRANTS lines give more than USAGE on *.* plus grants on
// single databases or tables: any global privilege, GRANT OPTION, PROXY, or a granted role.
func grantsElevated(lines []string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, "GRANT USAGE ON *.* TO ") {
			continue
		}
		if !strings.HasPrefix(l, "GRANT ") || strings.HasPrefix(l, "GRANT PROXY ") || !strings.Contains(l, " ON ") ||
			strings.Contains(l, " ON *.* ") || strings.Contains(l, " WITH GRANT OPTION") {
			return true
		}
	}
	return false
}
