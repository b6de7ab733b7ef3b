// Command parley is the Parley server and its tools in one binary:
//
//	parley [serve] [flags]   run the server (the default)
//	parley admin ...         offline tasks on a stopped server's data directory
//	parley bench chat ...    load generator for chat (meeting and live to come)
//	parley version           print the version
//
// Configuration for serve comes from defaults, then a YAML file (--config),
// then PARLEY_* environment variables, then flags; deploy/parley.yaml
// documents every option.
package main
