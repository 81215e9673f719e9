package resources

import "encoding/json"

// convert turns a core API value into the matching apply configuration. Apply
// configurations mirror the JSON form of the types they configure, so a JSON round
// trip is exact; it cannot fail for API types, hence the panic.
func convert[T any](in any) *T {
	raw, err := json.Marshal(in)
	if err != nil {
		panic(err)
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		panic(err)
	}
	return out
}
