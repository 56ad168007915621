package models

import (
	"slices"
	"testing"
)

func TestEachIntReadsJoinedInts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int64
	}{
		{"", nil},
		{"7", []int64{7}},
		{"1,22,333", []int64{1, 22, 333}},
		{"-5,0,12", []int64{-5, 0, 12}},
		{"9223372036854775807", []int64{9223372036854775807}},
	} {
		var got []int64
		eachInt(tc.in, func(v int64) { got = append(got, v) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("eachInt(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestIDSet(t *testing.T) {
	var s idSet
	for _, id := range []int64{0, 63, 64, 100000, -1} {
		s.add(id)
	}
	for id, want := range map[int64]bool{0: true, 63: true, 64: true, 100000: true, 1: false, 65: false, 99999: false,
		100001: false, 1 << 40: false, -1: false} {
		if s.has(id) != want {
			t.Errorf("has(%d) = %t, want %t", id, !want, want)
		}
	}
}
