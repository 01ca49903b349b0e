import { style } from "@vanilla-extract/css";
import { vars } from "../styles/theme.css";

export const enrollment = style({ display: "grid", gap: vars.space.md, justifyItems: "start" });

/** The QR code keeps a white quiet zone in the dark theme too, or phones cannot read it. */
export const qr = style({
  background: "#fff",
  padding: vars.space.sm,
  borderRadius: vars.radius.md,
  imageRendering: "pixelated",
});
