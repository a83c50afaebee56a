// The configuration a bare `oms-gateway start` runs with when neither --config nor OMS_GATEWAY_CONFIG names a
// file. It is parsed by the same loader as any file, so it cannot drift from the schema.

export const DEFAULT_CONFIG_YAML = `# Embedded default configuration of oms-gateway.
# Listens on 0.0.0.0:8080 and, when the host has IPv6, on [::]:8080; lets agents reach the endpoints of the
# Azure public cloud on port 443 without credentials. Every setting is described in
# config/oms-gateway.example.yaml.
cloud: public
defaultHosts: true
auth:
  mode: anonymous
log:
  level: info
`;
