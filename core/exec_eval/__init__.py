"""Execution-checked evaluation: fixture file trees and the NL→bash pairs run on them."""
