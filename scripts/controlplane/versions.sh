# The one Kubernetes release the tests run against, and the etcd its go.mod asks for.
KUBE_VERSION=v1.36.3
ETCD_VERSION=v3.6.8
