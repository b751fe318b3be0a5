package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// Configuration comes, for every flag of every command, from (highest
// first): the command line, an ORBIT_<FLAG> environment variable (dashes
// become underscores: --max-blocks is ORBIT_MAX_BLOCKS), the config file
// config.yaml in the data directory (a section named after the command
// overrides top-level keys), and the flag's default.

// configFileName is the config file inside the data directory.
const configFileName = "config.yaml"

// Value sources, as `orbit config` prints them.
const (
	sourceFlag    = "flag"
	sourceEnv     = "env"
	sourceFile    = "file"
	sourceDefault = "default"
)

// configDataDir is where the config file is looked for: the command's own
// --data-dir if given, else $ORBIT_DATA_DIR, else ~/.orbit.
func configDataDir(cmd *cobra.Command) string {
	if f := cmd.Flags().Lookup("data-dir"); f != nil && f.Changed && f.Value.String() != "" {
		return f.Value.String()
	}
	if d := os.Getenv("ORBIT_DATA_DIR"); d != "" {
		return d
	}
	return weightsDefaultDataDir()
}

// configFile is the parsed config file: top-level flag values and
// per-command sections.
type configFile struct {
	path     string
	top      map[string]any
	sections map[string]map[string]any
}

// loadConfigFile reads dir/config.yaml; a missing file is an empty config.
func loadConfigFile(dir string) (*configFile, error) {
	cf := &configFile{path: filepath.Join(dir, configFileName), top: map[string]any{}, sections: map[string]map[string]any{}}
	b, err := os.ReadFile(cf.path)
	if errors.Is(err, fs.ErrNotExist) {
		return cf, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("config: %s: %w", cf.path, err)
	}
	for k, v := range raw {
		if sec, ok := v.(map[string]any); ok {
			cf.sections[k] = sec
			continue
		}
		cf.top[k] = v
	}
	return cf, nil
}

// lookup returns the file's value for a flag of command cmdName.
func (cf *configFile) lookup(cmdName, flag string) (any, bool) {
	if sec, ok := cf.sections[cmdName]; ok {
		if v, ok := sec[flag]; ok {
			return v, true
		}
	}
	v, ok := cf.top[flag]
	return v, ok
}

// envName is the environment variable of a flag.
func envName(flag string) string {
	return "ORBIT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func isList(f *pflag.Flag) bool {
	t := f.Value.Type()
	return strings.HasSuffix(t, "Slice") || strings.HasSuffix(t, "Array")
}

// setFlag sets f from a config value: lists element by element.
func setFlag(f *pflag.Flag, v any) error {
	if list, ok := v.([]any); ok {
		if !isList(f) {
			return fmt.Errorf("--%s takes one value, the config gives a list", f.Name)
		}
		for _, e := range list {
			if err := f.Value.Set(fmt.Sprint(e)); err != nil {
				return fmt.Errorf("--%s: %w", f.Name, err)
			}
		}
		return nil
	}
	if _, ok := v.(map[string]any); ok {
		return fmt.Errorf("--%s: a section cannot be a flag value", f.Name)
	}
	if err := f.Value.Set(fmt.Sprint(v)); err != nil {
		return fmt.Errorf("--%s: %w", f.Name, err)
	}
	return nil
}

// applyConfig fills every flag of cmd not given on the command line from
// the environment, then from the config file, and returns each flag's
// source.
func applyConfig(cmd *cobra.Command) (map[string]string, error) {
	cf, err := loadConfigFile(configDataDir(cmd))
	if err != nil {
		return nil, err
	}
	sources := map[string]string{}
	var errs []error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || f.Name == "version" {
			return
		}
		switch {
		case f.Changed:
			sources[f.Name] = sourceFlag
		case os.Getenv(envName(f.Name)) != "":
			v := os.Getenv(envName(f.Name))
			var err error
			if isList(f) {
				for _, e := range strings.Split(v, ",") {
					if err == nil {
						err = f.Value.Set(strings.TrimSpace(e))
					}
				}
			} else {
				err = f.Value.Set(v)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", envName(f.Name), err))
				return
			}
			f.Changed = true
			sources[f.Name] = sourceEnv
		default:
			v, ok := cf.lookup(cmd.Name(), f.Name)
			if !ok {
				sources[f.Name] = sourceDefault
				return
			}
			if err := setFlag(f, v); err != nil {
				errs = append(errs, fmt.Errorf("config %s: %w", cf.path, err))
				return
			}
			f.Changed = true
			sources[f.Name] = sourceFile
		}
	})
	return sources, errors.Join(errs...)
}

// isSecretFlag reports whether orbit config keeps a flag's value to
// itself.
func isSecretFlag(name string) bool { return name == "api-key" }

// redacted stands for a secret's value in orbit config's output.
const redacted = "<redacted>"

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config [COMMAND] [FLAGS]",
		Short: "Print the effective configuration of a command (default: run) and where each value comes from",
		Long: `Every flag of every command can also be set by an ORBIT_<FLAG> environment
variable (--max-blocks is ORBIT_MAX_BLOCKS; lists are comma-separated) or in
config.yaml in the data directory ($ORBIT_DATA_DIR or ~/.orbit): top-level
keys apply to every command, a section named after a command overrides them:

  bootstrap: [/ip4/203.0.113.7/tcp/4001/p2p/12D3KooW...]
  run:
    max-blocks: 8
    kv-cache: 2048

Precedence: command line, environment, config file, default. config prints
the values the command would run with and each value's source; the API key
is shown as <redacted> when set. The command's own flags may follow it, as
they would on its command line (orbit config run --max-blocks 2): they are
shown with source "flag". --json (print JSON) is config's own.`,
		// The command's own flags follow it (orbit config run --max-blocks
		// 2), so config parses them itself: --json and --help are config's.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, rest, asJSON, help := splitConfigArgs(args)
			if help {
				return cmd.Help()
			}
			target, _, err := cmd.Root().Find([]string{name})
			if err != nil || target == cmd.Root() || target.Name() != name {
				return fmt.Errorf("unknown command %q", name)
			}
			if err := target.ParseFlags(rest); err != nil {
				return fmt.Errorf("orbit config %s: %w", name, err)
			}
			sources, err := applyConfig(target)
			if err != nil {
				return err
			}
			type entry struct {
				Flag   string `json:"flag"`
				Value  string `json:"value"`
				Source string `json:"source"`
			}
			var out []entry
			target.Flags().VisitAll(func(f *pflag.Flag) {
				if src, ok := sources[f.Name]; ok {
					v := f.Value.String()
					if isSecretFlag(f.Name) && v != "" {
						v = redacted
					}
					out = append(out, entry{f.Name, v, src})
				}
			})
			sort.Slice(out, func(i, j int) bool { return out[i].Flag < out[j].Flag })
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(map[string]any{"command": name, "config_file": filepath.Join(configDataDir(target), configFileName), "values": out})
			}
			fmt.Fprintf(w, "# orbit %s; config file %s\n", name, filepath.Join(configDataDir(target), configFileName))
			for _, e := range out {
				fmt.Fprintf(w, "%-22s %-40s (%s)\n", e.Flag, e.Value, e.Source)
			}
			return nil
		},
	}
	cmd.Flags().Bool("json", false, "print JSON")
	return cmd
}

// splitConfigArgs splits orbit config's arguments: the command (default
// run: the first argument not a flag, before any of its flags), the
// command's flags, and config's own --json and --help.
func splitConfigArgs(args []string) (name string, rest []string, asJSON, help bool) {
	name = "run"
	named := false
	for _, a := range args {
		switch a {
		case "--json", "--json=true":
			asJSON = true
			continue
		case "--json=false":
			continue
		case "-h", "--help":
			help = true
			continue
		}
		if !named && len(rest) == 0 && !strings.HasPrefix(a, "-") {
			name, named = a, true
			continue
		}
		rest = append(rest, a)
	}
	return name, rest, asJSON, help
}
