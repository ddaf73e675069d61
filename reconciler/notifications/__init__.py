"""Telling people what happened: drift found and healed, failed applies and rollouts, perpetual
diffs, source errors, sent to chat, to a webhook and as commit statuses, off the reconcile path."""
