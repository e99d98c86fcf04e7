// The single binary's entry: unpack and load what must live on disk (cli/binary-assets.ts), then the CLI.
// ES modules run in import order, so the assets are in place before any module of the CLI is evaluated.
import './binary-assets.ts';
import './main.ts';
