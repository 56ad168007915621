# Convenience targets; everything also works with plain go commands.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: run test generate vet ci bench release

run:
	go run ./cmd/countersign

test:
	go test ./...

generate:
	go tool templ generate -path views

vet:
	go vet ./...

ci:
	bash .ci/run

bench:
	bash bench/run.sh

# Static release binaries for every supported platform, in dist/.
release:
	@mkdir -p dist
	@for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do \
		os=$${target%/*}; arch=$${target#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "building $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags "$(LDFLAGS)" \
			-o dist/countersign-$(VERSION)-$$os-$$arch$$ext ./cmd/countersign || exit 1; \
	done
