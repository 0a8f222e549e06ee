// Package yamlnode reads the nodes of a YAML configuration with errors
// at their FILE:LINE:COL: the helpers every section's parser shares
// (services/config, services/notifyconfig, services/monitorconfig), so
// that a key, a list or a command line means the same in each, and the
// splitting of a command given as one string.
package yamlnode
