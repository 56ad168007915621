//go:build !unix

package models

import (
	"errors"
	"os"
)

// lockExclusive is not available here: stores write their decision records
// straight into the table.
func lockExclusive(*os.File) error {
	return errors.New("no advisory file locks on this platform")
}
