// Package naming is the one home of kubeship's naming rules: the names of the Kubernetes
// objects it creates for a Microservice, and the SQL identifiers (databases, roles, users)
// it creates on database servers. The builders in controllers/resources and the database
// client in internal/dbadmin both use it, so a rule cannot drift between them.
package naming

// Database engines, as DatabaseSpec.engine and DatabaseServer.spec.engine spell them.
const (
	EnginePostgres = "postgres"
	EngineMySQL    = "mysql"
)

// databaseSuffix ends the names of a Microservice's database objects.
const databaseSuffix = "-db"

// DatabaseObjectName is the Kubernetes object name shared by the database objects of the
// Microservice `microservice`: its credentials Secret and, for a dedicated database, the
// StatefulSet, headless Service and NetworkPolicy (kinds differ, so one name serves all).
func DatabaseObjectName(microservice string) string { return microservice + databaseSuffix }
