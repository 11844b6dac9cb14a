'use client';

import { useState } from 'react';
import { useInsertPhoneBook } from '../client/carburetor.ts';
import {
  type ContactDraft,
  ContactFields,
  EMPTY_DRAFT,
  type FormError,
  formErrorOf,
} from './contact-fields.tsx';

export function AddContactForm({ userId }: { userId: string }) {
  const insert = useInsertPhoneBook();
  const [draft, setDraft] = useState<ContactDraft>(EMPTY_DRAFT);
  const [error, setError] = useState<FormError>();
  return (
    <form
      className="card add-form"
      aria-label="Add a contact"
      onSubmit={(event) => {
        event.preventDefault();
        setError(undefined);
        insert.mutate(
          {
            owner_id: userId,
            name: draft.name.trim(),
            phone_number: draft.phone_number.trim(),
            note: draft.note.trim() === '' ? null : draft.note.trim(),
            published: draft.published,
          },
          {
            onSuccess: () => setDraft(EMPTY_DRAFT),
            onError: (e) => setError(formErrorOf(e, draft)),
          },
        );
      }}
    >
      <h2>Add a contact</h2>
      <div className="fields">
        <ContactFields draft={draft} onChange={setDraft} error={error} idPrefix="add" />
      </div>
      {error && error.field === undefined ? (
        <p className="field-error" role="alert">
          {error.message}
        </p>
      ) : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={insert.isPending}>
          Add contact
        </button>
      </div>
    </form>
  );
}
