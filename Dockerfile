# syntax=docker/dockerfile:1
# Multi-stage build: a static, CGO-free binary in a small non-root image.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags="-s -w -X main.version=${VERSION}" \
      -o /out/countersign ./cmd/countersign \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/countersign /usr/local/bin/countersign
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
ENV COUNTERSIGN_ADDR=0.0.0.0:8080 \
    COUNTERSIGN_DATABASE=/data/countersign.db \
    COUNTERSIGN_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/countersign"]
CMD ["serve"]
