//go:build tools

// The Temporal Web UI server, pinned by go.mod and go.sum beside this file, for
// scripts/temporal-engine.sh to build: the Web UI of the local cluster (`npm run dev -- --engine
// cluster`), the same release the pinned dev server embeds and docker-compose.yml's temporal-ui image
// runs. Its own module, so it cannot move the server's dependencies.
package tools

import (
	_ "github.com/temporalio/ui-server/v2/cmd/server"
)
