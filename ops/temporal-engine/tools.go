//go:build tools

// The Temporal server and its SQL schema tool, pinned by go.mod and go.sum beside this file, for
// scripts/temporal-engine.sh to build: the production engine (PostgreSQL, separate services) that
// `temporal server start-dev` stands in for everywhere else.
package tools

import (
	_ "go.temporal.io/server/cmd/server"
	_ "go.temporal.io/server/cmd/tools/sql"
)
