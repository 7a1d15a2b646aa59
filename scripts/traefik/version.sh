# The Traefik release the data-plane tests run. v3.7 replaces a module with one the Go module proxy
# does not serve, so stay on v3.6.x.
TRAEFIK_VERSION=v3.6.12
