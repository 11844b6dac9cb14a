'use client';

import { CarburetorClientError } from '@carburetor/client';
import { checkValue } from '@carburetor/core';
import { config } from '../sync-config.ts';

/** The editable fields of a contact, as the forms hold them. */
export interface ContactDraft {
  name: string;
  phone_number: string;
  note: string;
  published: boolean;
}

export const EMPTY_DRAFT: ContactDraft = { name: '', phone_number: '', note: '', published: false };

/** A failed write as the form shows it: under its field when the error names one. */
export interface FormError {
  field: keyof ContactDraft | undefined;
  message: string;
}

/**
 * Turns a refused local write into a form error. The message of a column's
 * validator (`config`'s zod schema, which the client ran and the server runs
 * again) goes under that column's field.
 */
export function formErrorOf(error: unknown, draft: ContactDraft): FormError {
  if (error instanceof CarburetorClientError && error.code === 'invalid_value' && error.column) {
    const field = error.column as keyof ContactDraft;
    const column = config.tables.phone_book.column[field];
    const check = column ? checkValue(column, draft[field]) : undefined;
    const message =
      check && !check.ok ? check.message.replace(`${field}: `, '') : (error.message ?? '');
    return { field: field in draft ? field : undefined, message };
  }
  return { field: undefined, message: error instanceof Error ? error.message : String(error) };
}

/** The inputs shared by the add and edit forms. */
export function ContactFields({
  draft,
  onChange,
  error,
  idPrefix,
}: {
  draft: ContactDraft;
  onChange: (draft: ContactDraft) => void;
  error: FormError | undefined;
  idPrefix: string;
}) {
  const nameError = error?.field === 'name' ? error.message : undefined;
  return (
    <>
      <label className="field">
        Name
        <input
          name="name"
          value={draft.name}
          placeholder="Ada Lovelace"
          aria-invalid={nameError ? true : undefined}
          aria-describedby={nameError ? `${idPrefix}-name-error` : undefined}
          onChange={(e) => onChange({ ...draft, name: e.target.value })}
        />
        {nameError ? (
          <span className="field-error" id={`${idPrefix}-name-error`} role="alert">
            {nameError}
          </span>
        ) : null}
      </label>
      <label className="field">
        Phone
        <input
          name="phone_number"
          type="tel"
          value={draft.phone_number}
          placeholder="+44 20 7946 0000"
          onChange={(e) => onChange({ ...draft, phone_number: e.target.value })}
        />
      </label>
      <label className="field wide">
        Note
        <input
          name="note"
          value={draft.note}
          placeholder="optional"
          onChange={(e) => onChange({ ...draft, note: e.target.value })}
        />
      </label>
      <label className="check">
        <input
          type="checkbox"
          name="published"
          checked={draft.published}
          onChange={(e) => onChange({ ...draft, published: e.target.checked })}
        />
        List in the directory
      </label>
    </>
  );
}
