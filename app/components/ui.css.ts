import { style } from "@vanilla-extract/css";
import { recipe, type RecipeVariants } from "@vanilla-extract/recipes";
import { vars } from "../styles/theme.css";

export const page = style({
  maxWidth: "34rem",
  margin: "0 auto",
  padding: `${vars.space.xl} ${vars.space.md}`,
});

export const header = style({
  display: "flex",
  alignItems: "center",
  justifyContent: "space-between",
  gap: vars.space.md,
  padding: `${vars.space.sm} ${vars.space.md}`,
  borderBottom: `1px solid ${vars.color.border}`,
  background: vars.color.surface,
});

export const brand = style({ fontWeight: 700, color: vars.color.text, textDecoration: "none" });

export const nav = style({ display: "flex", alignItems: "center", gap: vars.space.md });

export const card = style({
  background: vars.color.surface,
  border: `1px solid ${vars.color.border}`,
  borderRadius: vars.radius.md,
  padding: vars.space.lg,
  display: "grid",
  gap: vars.space.md,
});

export const heading = style({ fontSize: vars.size.xl, lineHeight: 1.2, margin: 0 });

export const text = style({ margin: 0, color: vars.color.text });

export const muted = style({ margin: 0, color: vars.color.muted, fontSize: vars.size.sm });

export const form = style({ display: "grid", gap: vars.space.md });

export const inlineForm = style({ display: "inline" });

export const field = style({ display: "grid", gap: vars.space.xs });

export const label = style({ fontWeight: 600 });

export const input = style({
  font: "inherit",
  padding: `${vars.space.sm} ${vars.space.md}`,
  borderRadius: vars.radius.sm,
  border: `1px solid ${vars.color.border}`,
  background: vars.color.background,
  color: vars.color.text,
  selectors: {
    '&[aria-invalid="true"]': { borderColor: vars.color.danger },
  },
});

export const codeInput = style([
  input,
  { fontFamily: vars.font.mono, fontSize: vars.size.lg, letterSpacing: "0.3em" },
]);

export const fieldError = style({ color: vars.color.danger, fontSize: vars.size.sm, margin: 0 });

export const button = recipe({
  base: {
    font: "inherit",
    fontWeight: 600,
    cursor: "pointer",
    borderRadius: vars.radius.sm,
    padding: `${vars.space.sm} ${vars.space.md}`,
    border: "1px solid transparent",
    selectors: { "&:disabled": { opacity: 0.7, cursor: "progress" } },
  },
  variants: {
    kind: {
      primary: {
        background: vars.color.accent,
        color: vars.color.accentText,
        selectors: { "&:hover:not(:disabled)": { background: vars.color.accentHover } },
      },
      secondary: {
        background: "transparent",
        color: vars.color.accent,
        borderColor: vars.color.border,
      },
      link: {
        background: "transparent",
        color: vars.color.accent,
        padding: 0,
        textDecoration: "underline",
      },
    },
  },
  defaultVariants: { kind: "primary" },
});

export type ButtonVariants = RecipeVariants<typeof button>;

export const alert = recipe({
  base: {
    borderRadius: vars.radius.sm,
    padding: vars.space.md,
    display: "grid",
    gap: vars.space.xs,
  },
  variants: {
    tone: {
      danger: {
        background: vars.color.dangerSurface,
        color: vars.color.text,
        border: `1px solid ${vars.color.danger}`,
      },
      success: {
        background: vars.color.successSurface,
        color: vars.color.text,
        border: `1px solid ${vars.color.success}`,
      },
      info: {
        background: vars.color.background,
        color: vars.color.text,
        border: `1px solid ${vars.color.border}`,
      },
    },
  },
  defaultVariants: { tone: "info" },
});

export type AlertVariants = RecipeVariants<typeof alert>;

export const alertTitle = style({ fontWeight: 700, margin: 0 });

export const list = style({
  margin: 0,
  paddingLeft: vars.space.lg,
  display: "grid",
  gap: vars.space.xs,
});

export const mono = style({ fontFamily: vars.font.mono });
