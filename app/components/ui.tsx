import { useEffect, useRef, type ButtonHTMLAttributes, type ReactNode } from "react";
import { Form } from "react-router";
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

/**
 * The form that takes a six-digit code: the emailed one on /login/check and the
 * authenticator app's on /login/mfa. The field points at the error alert (`errorId`) while
 * there is one, so a screen reader reads why the last code was refused.
 */
export function CodeForm({
  action,
  intent,
  label,
  error,
  errorId,
  pending,
  children,
}: {
  /** The route that checks the code. */
  action: string;
  /** Sent as `intent` when the route tells its forms apart by it. */
  intent?: string;
  label: string;
  /** The last refusal, shown by an `ErrorAlert` with id `errorId`. */
  error?: unknown;
  errorId: string;
  pending: boolean;
  /** The submit button's words. */
  children: ReactNode;
}) {
  return (
    <Form method="post" action={action} className={styles.form} noValidate>
      {intent ? <input type="hidden" name="intent" value={intent} /> : null}
      <div className={styles.field}>
        <label htmlFor="code" className={styles.label}>
          {label}
        </label>
        <input
          id="code"
          name="code"
          type="text"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]*"
          maxLength={12}
          required
          className={styles.codeInput}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
        />
      </div>
      <Button type="submit" pending={pending} pendingLabel="Checking…">
        {children}
      </Button>
    </Form>
  );
}

/** "Sign out everywhere": POST /logout with scope=all (S22); `quiet` shows it as a link. */
export function SignOutEverywhere({ quiet = false }: { quiet?: boolean }) {
  return (
    <Form method="post" action="/logout" className={quiet ? styles.quietForm : styles.form}>
      <input type="hidden" name="scope" value="all" />
      <Button type="submit" kind={quiet ? "link" : "secondary"}>
        Sign out everywhere
      </Button>
    </Form>
  );
}

/**
 * A time as the same text on server and client: UTC, to the minute. The space before
 * "UTC" does not break, so "UTC" never wraps onto a line of its own.
 */
export function formatTime(iso: string): string {
  return `${iso.slice(0, 16).replace("T", " ")}\u00a0UTC`;
}
