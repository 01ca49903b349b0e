import { globalStyle, style } from "@vanilla-extract/css";
import { recipe, type RecipeVariants } from "@vanilla-extract/recipes";
import { vars } from "../styles/theme.css";

export const page = style({
  maxWidth: "34rem",
  margin: "0 auto",
  padding: `${vars.space.xl} ${vars.space.md}`,
  "@media": { "(max-width: 400px)": { padding: `${vars.space.lg} ${vars.space.sm}` } },
});

// One line at every width and the same height signed in or out: the brand gives way
// (ellipsis) before the links wrap.
export const header = style({
  display: "flex",
  flexWrap: "nowrap",
  alignItems: "center",
  justifyContent: "space-between",
  gap: vars.space.md,
  minHeight: "3rem",
  padding: `${vars.space.sm} ${vars.space.md}`,
  borderBottom: `1px solid ${vars.color.border}`,
  background: vars.color.surface,
});

export const brand = style({
  fontWeight: 700,
  color: vars.color.text,
  textDecoration: "none",
  minWidth: 0,
  overflow: "hidden",
  textOverflow: "ellipsis",
  whiteSpace: "nowrap",
});

export const nav = style({
  display: "flex",
  flexShrink: 0,
  alignItems: "center",
  gap: vars.space.md,
  whiteSpace: "nowrap",
});

// Grid items default to min-width: auto, which lets a 64-character address push the card
// wider than the screen; every child may shrink, and long words break anywhere.
export const card = style({
  background: vars.color.surface,
  border: `1px solid ${vars.color.border}`,
  borderRadius: vars.radius.md,
  padding: vars.space.lg,
  display: "grid",
  gridTemplateColumns: "minmax(0, 1fr)",
  gap: vars.space.md,
  overflowWrap: "anywhere",
  "@media": { "(max-width: 400px)": { padding: vars.space.md } },
});

globalStyle(`${card} > *`, { minWidth: 0 });

export const subheading = style({ fontSize: vars.size.md, lineHeight: 1.3, margin: 0 });

/** An email address in running text: it may break anywhere. */
export const address = style({ overflowWrap: "anywhere", wordBreak: "break-word" });

export const heading = style({ fontSize: vars.size.xl, lineHeight: 1.2, margin: 0 });

/** A section of a card (an h2 under the page's h1): smaller than the title, set apart above. */
export const sectionHeading = style({
  fontSize: vars.size.lg,
  lineHeight: 1.3,
  margin: `${vars.space.sm} 0 0`,
});

export const text = style({ margin: 0, color: vars.color.text });

export const muted = style({ margin: 0, color: vars.color.muted, fontSize: vars.size.sm });

export const form = style({ display: "grid", gap: vars.space.md });

export const inlineForm = style({ display: "inline" });

/** A form holding one quiet link-styled button. */
export const quietForm = style({ display: "block", justifySelf: "start" });

/** The button of one item in a list (the sessions page): apart from the text above it. */
export const itemAction = style({ display: "block", marginTop: vars.space.sm });

export const field = style({ display: "grid", gap: vars.space.xs });

export const label = style({ fontWeight: 600 });

export const input = style({
  font: "inherit",
  width: "100%",
  minWidth: 0,
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
    maxWidth: "100%",
    whiteSpace: "normal",
    // A Link may wear the button's look ("Start again here").
    display: "inline-block",
    textAlign: "center",
    textDecoration: "none",
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
      // Reads as the links beside it: their weight, and no border to shift it by a pixel.
      link: {
        background: "transparent",
        color: vars.color.accent,
        padding: 0,
        border: 0,
        fontWeight: "inherit",
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

/** A definition list laid out like the rest of the card: label above value, no indent. */
export const list = style({
  margin: 0,
  padding: 0,
  // Also on a <ul>: a bullet would hang outside the card's text column.
  listStyle: "none",
  display: "grid",
  gap: vars.space.xs,
});

globalStyle(`${list} dd`, { margin: `0 0 ${vars.space.sm}` });
// The card's gap follows the list; a last margin would double it.
globalStyle(`${list} dd:last-child`, { marginBottom: 0 });

/** A list of items (emails, sessions) without bullets or indent, each apart from the next. */
export const stack = style({
  listStyle: "none",
  margin: 0,
  padding: 0,
  display: "grid",
  gap: vars.space.md,
});

// A rule between items, so one email or session does not run into the next.
globalStyle(`${stack} > li + li`, {
  borderTop: `1px solid ${vars.color.border}`,
  paddingTop: vars.space.md,
});

/** One item of a stack (an email in the dev mailbox): its lines close together. */
export const item = style({ display: "grid", gap: vars.space.xs });

export const mono = style({ fontFamily: vars.font.mono });

// "2026-12-03 00:21 UTC" stays on one line: a date broken at its hyphen reads as two.
globalStyle("time", { whiteSpace: "nowrap" });
