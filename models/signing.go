package models

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// signingLabel separates signatures from fingerprints: both are HMACs under
// the fingerprint key, but signatures use a key derived from it, so a
// signature is never the fingerprint of the signed bytes.
const signingLabel = "countersign/signing/v1"

// Sign returns a tamper-proof tag (HMAC-SHA-256, base64url) of data for a
// purpose, e.g. the import preview carried by the browser between preview
// and apply. The same data signed for another purpose gives another tag.
func (f *Fingerprinter) Sign(purpose string, data []byte) string {
	return base64.RawURLEncoding.EncodeToString(f.sign(purpose, data))
}

// Verify reports whether tag is Sign(purpose, data), in constant time.
func (f *Fingerprinter) Verify(purpose string, data []byte, tag string) bool {
	got, err := base64.RawURLEncoding.DecodeString(tag)
	if err != nil {
		return false
	}
	return hmac.Equal(got, f.sign(purpose, data))
}

func (f *Fingerprinter) sign(purpose string, data []byte) []byte {
	derive := hmac.New(sha256.New, f.key)
	derive.Write([]byte(signingLabel))
	m := hmac.New(sha256.New, derive.Sum(nil))
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(data)
	return m.Sum(nil)
}
