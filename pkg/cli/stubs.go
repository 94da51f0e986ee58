package cli

import "github.com/spf13/cobra"

// TODO(issue 7): status, verify, repair, bench land with their stages.
func newStatus(*env) *cobra.Command { return &cobra.Command{Use: "status", Hidden: true} }
func newVerify(*env) *cobra.Command { return &cobra.Command{Use: "verify", Hidden: true} }
func newRepair(*env) *cobra.Command { return &cobra.Command{Use: "repair", Hidden: true} }
func newBench(*env) *cobra.Command  { return &cobra.Command{Use: "bench", Hidden: true} }
