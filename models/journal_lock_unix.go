//go:build unix

package models

import (
	"os"
	"syscall"
)

// lockExclusive takes an exclusive advisory lock on f without waiting; it
// fails when another open file description holds it (another process, or
// another store of this one).
func lockExclusive(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
