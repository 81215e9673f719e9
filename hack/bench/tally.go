package main

// tally is an amount by name (CPU seconds by process, requests by kind), read from
// counters that only grow.
type tally map[string]float64

// since is what was added to each name between before and t.
func (t tally) since(before tally) tally {
	out := tally{}
	for name, v := range t {
		if d := v - before[name]; d > 0 {
			out[name] = d
		}
	}
	return out
}

// total is every name together.
func (t tally) total() float64 {
	var sum float64
	for _, v := range t {
		sum += v
	}
	return sum
}
