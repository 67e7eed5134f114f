package plugin

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/skopos-go/skopos/internal/servicekeys"
	"github.com/skopos-go/skopos/internal/vault"
	"github.com/spf13/cobra"
)

// vaultCommand is `skopos vault rotate`: re-encrypt every service key
// under a new server key.
func (c *cli) vaultCommand() *cobra.Command {
	group := c.command(&cobra.Command{Use: "vault", Short: "Manage the key vault (users' service keys, encrypted under the server key)"})
	var newFile string
	rotate := c.command(&cobra.Command{
		Use:   "rotate --new-key-file FILE",
		Short: "Re-encrypt every service key under a new server key (64 hex characters, from FILE or SKOPOS_NEW_ENCRYPTION_KEY); the current key is SKOPOS_ENCRYPTION_KEY",
		Long: "Re-encrypts every service key under the new key, keeping it readable meanwhile: the server may keep running. " +
			"Keys already under the new key are skipped, so an interrupted rotation is finished by running it again. " +
			"Then restart the server with SKOPOS_ENCRYPTION_KEY set to the new key.",
		Args: cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			if c.vault == nil {
				return errors.New("no current key: set SKOPOS_ENCRYPTION_KEY (or SKOPOS_ENCRYPTION_KEY_FILE) to the key the vault is encrypted under")
			}
			text := os.Getenv("SKOPOS_NEW_ENCRYPTION_KEY")
			if newFile != "" {
				if text != "" {
					return errors.New("give the new key once: --new-key-file or SKOPOS_NEW_ENCRYPTION_KEY, not both")
				}
				b, err := os.ReadFile(newFile)
				if err != nil {
					return fmt.Errorf("read the new key: %w", err)
				}
				text = string(b)
			}
			if strings.TrimSpace(text) == "" {
				return errors.New("the new key is missing: --new-key-file FILE or SKOPOS_NEW_ENCRYPTION_KEY (64 hex characters, e.g. `openssl rand -hex 32`)")
			}
			fresh, err := vault.ParseKey(strings.TrimSpace(text))
			if err != nil {
				return fmt.Errorf("the new key: %w", err)
			}
			v, err := vault.New(fresh, c.vaultKey)
			if err != nil {
				return err
			}
			if err := c.migrate(c.app); err != nil {
				return err
			}
			n, err := servicekeys.Rotate(c.app, v)
			if err != nil {
				return fmt.Errorf("%w (%d keys re-encrypted before it; run the command again to finish)", err, n)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d service keys re-encrypted under key %s; restart the server with SKOPOS_ENCRYPTION_KEY set to the new key\n", n, fresh.ID())
			return nil
		}),
	})
	rotate.Flags().StringVar(&newFile, "new-key-file", "", "a file holding the new key (64 hex characters)")
	group.AddCommand(rotate)
	return group
}
