import { useEffect, useRef, type ButtonHTMLAttributes, type ReactNode } from "react";
import type { ErrorView } from "../auth/messages";
import { describeError } from "../auth/messages";
import * as styles from "./ui.css";

export function Card({ children }: { children: ReactNode }) {
  return <section className={styles.card}>{children}</section>;
}

export function Button({
  kind,
  pending,
  pendingLabel,
  children,
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> &
  styles.ButtonVariants & { pending?: boolean; pendingLabel?: string }) {
  return (
    <button
      className={styles.button({ kind })}
      disabled={pending}
      aria-disabled={pending}
      {...props}
    >
      {pending && pendingLabel ? pendingLabel : children}
    </button>
  );
}

/**
 * An error shown as an alert; it takes focus when it appears, so screen-reader and keyboard
 * users land on it after a failed submit.
 */
export function ErrorAlert<E extends ErrorView>({
  error,
  id,
  children,
  describe = describeError,
}: {
  error: E;
  id?: string;
  children?: ReactNode;
  /** Words for the error; the email sign-in's by default. */
  describe?: (error: E) => { title: string; message: string };
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, [error]);
  const words = describe(error);
  return (
    <div ref={ref} id={id} role="alert" tabIndex={-1} className={styles.alert({ tone: "danger" })}>
      <p className={styles.alertTitle}>{words.title}</p>
      <p className={styles.text}>{words.message}</p>
      {children}
    </div>
  );
}

export function Notice({
  title,
  children,
  tone = "info",
}: { title?: string; children: ReactNode } & styles.AlertVariants) {
  return (
    <div role="status" className={styles.alert({ tone })}>
      {title ? <p className={styles.alertTitle}>{title}</p> : null}
      {children}
    </div>
  );
}
