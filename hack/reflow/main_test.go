package main

import "testing"

func TestReflow(t *testing.T) {
	cases := []struct{ in, want string }{
		{"one line", "one line"},
		{"created when the service runs at\nleast two replicas.", "created when the service runs at least two replicas."},
		{"first paragraph\ncontinues.\n\nsecond one.", "first paragraph continues.\n\nsecond one."},
		{"list:\n- a\n- b", "list:\n- a\n- b"},
		{"code:\n  indented\nback", "code:\n  indented\nback"},
	}
	for _, tc := range cases {
		if got := reflow(tc.in); got != tc.want {
			t.Errorf("reflow(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
