// Package check validates the deployment artifacts under deployments/
// without a container engine or a cluster: it builds the kustomize overlays
// and strictly decodes every object into its Kubernetes type, loads the
// compose file with the compose-spec loader, parses the Prometheus rules and
// every PromQL expression, checks that every metric queried by the dashboard
// and the alerts is in deployments/metrics.txt, that every runbook link
// resolves to a heading of docs/operations.md, parses every NATS config and
// drives each NATS role against an embedded server.
//
// It is its own Go module so that the root module does not depend on
// kustomize, compose-go or Prometheus. Run it with
//
//	cd deployments/check && go test ./...
package check
