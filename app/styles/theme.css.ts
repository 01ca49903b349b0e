import { createGlobalTheme, createThemeContract, globalStyle } from "@vanilla-extract/css";

/** The one theme contract: every style reads colours, spacing and type from here. */
export const vars = createThemeContract({
  color: {
    background: null,
    surface: null,
    text: null,
    muted: null,
    border: null,
    accent: null,
    accentText: null,
    accentHover: null,
    focus: null,
    danger: null,
    dangerSurface: null,
    success: null,
    successSurface: null,
  },
  space: { xs: null, sm: null, md: null, lg: null, xl: null },
  radius: { sm: null, md: null },
  font: { body: null, mono: null },
  size: { sm: null, md: null, lg: null, xl: null },
});

const shared = {
  space: { xs: "4px", sm: "8px", md: "16px", lg: "24px", xl: "40px" },
  radius: { sm: "6px", md: "12px" },
  font: {
    body: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    mono: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace',
  },
  size: { sm: "0.875rem", md: "1rem", lg: "1.25rem", xl: "1.75rem" },
};

// Light by default; dark follows the person's system setting.
createGlobalTheme(":root", vars, {
  ...shared,
  color: {
    background: "#f6f7f9",
    surface: "#ffffff",
    text: "#16181d",
    muted: "#4b5160",
    border: "#c9ced8",
    accent: "#3440c4",
    accentText: "#ffffff",
    accentHover: "#27309a",
    focus: "#f59e0b",
    danger: "#a3162b",
    dangerSurface: "#fdecee",
    success: "#1d6b36",
    successSurface: "#e8f6ec",
  },
});

globalStyle(":root", {
  "@media": {
    "(prefers-color-scheme: dark)": {
      vars: {
        [vars.color.background]: "#111318",
        [vars.color.surface]: "#1b1e25",
        [vars.color.text]: "#eceef3",
        [vars.color.muted]: "#b0b6c3",
        [vars.color.border]: "#3a3f4b",
        [vars.color.accent]: "#9aa4ff",
        [vars.color.accentText]: "#0d1030",
        [vars.color.accentHover]: "#c0c6ff",
        [vars.color.focus]: "#fbbf24",
        [vars.color.danger]: "#ff9aa8",
        [vars.color.dangerSurface]: "#3a1519",
        [vars.color.success]: "#8fe0a8",
        [vars.color.successSurface]: "#12301c",
      },
    },
  },
});

globalStyle(":root", { colorScheme: "light dark" });

globalStyle("*, *::before, *::after", { boxSizing: "border-box" });

globalStyle("body", {
  margin: 0,
  fontFamily: vars.font.body,
  fontSize: vars.size.md,
  lineHeight: 1.5,
  background: vars.color.background,
  color: vars.color.text,
});

globalStyle("a", { color: vars.color.accent });

// A visible focus ring for keyboard users everywhere.
globalStyle(":focus-visible", { outline: `3px solid ${vars.color.focus}`, outlineOffset: "2px" });
