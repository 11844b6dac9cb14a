'use client';

import { useState } from 'react';
import { useDeletePhoneBook, useUpdatePhoneBook } from '../client/carburetor.ts';
import type { Contact } from '../sync-config.ts';
import {
  type ContactDraft,
  ContactFields,
  type FormError,
  formErrorOf,
} from './contact-fields.tsx';

function draftOf(contact: Contact): ContactDraft {
  return {
    name: contact.name,
    phone_number: contact.phone_number,
    note: contact.note ?? '',
    published: contact.published,
  };
}

/** Only the fields the user changed: each is merged on its own, so edits elsewhere survive. */
function changesOf(contact: Contact, draft: ContactDraft) {
  const changes: Partial<Pick<Contact, 'name' | 'phone_number' | 'note' | 'published'>> = {};
  const note = draft.note.trim() === '' ? null : draft.note.trim();
  if (draft.name.trim() !== contact.name) changes.name = draft.name.trim();
  if (draft.phone_number.trim() !== contact.phone_number)
    changes.phone_number = draft.phone_number.trim();
  if (note !== contact.note) changes.note = note;
  if (draft.published !== contact.published) changes.published = draft.published;
  return changes;
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/);
  return (
    (parts[0]?.[0] ?? '') + (parts.length > 1 ? (parts.at(-1)?.[0] ?? '') : '')
  ).toUpperCase();
}

export function ContactItem({ contact, userId }: { contact: Contact; userId: string }) {
  const update = useUpdatePhoneBook();
  const remove = useDeletePhoneBook();
  const [draft, setDraft] = useState<ContactDraft>();
  const [error, setError] = useState<FormError>();
  const mine = contact.owner_id === userId;

  if (draft) {
    return (
      <li className="contact editing" data-testid="contact" data-id={contact.id}>
        <form
          className="edit-form"
          aria-label={`Edit ${contact.name}`}
          onSubmit={(event) => {
            event.preventDefault();
            setError(undefined);
            const changes = changesOf(contact, draft);
            if (Object.keys(changes).length === 0) {
              setDraft(undefined);
              return;
            }
            update.mutate(
              { id: contact.id, changes },
              {
                onSuccess: () => setDraft(undefined),
                onError: (e) => setError(formErrorOf(e, draft)),
              },
            );
          }}
        >
          <div className="fields">
            <ContactFields
              draft={draft}
              onChange={setDraft}
              error={error}
              idPrefix={`edit-${contact.id}`}
            />
          </div>
          {error && error.field === undefined ? (
            <p className="field-error" role="alert">
              {error.message}
            </p>
          ) : null}
          <div className="actions">
            <button type="button" onClick={() => setDraft(undefined)}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={update.isPending}>
              Save
            </button>
          </div>
        </form>
      </li>
    );
  }

  return (
    <li
      className="contact"
      data-testid="contact"
      data-id={contact.id}
      data-name={contact.name}
      data-owner={contact.owner_id}
    >
      <span className="avatar" aria-hidden="true">
        {initials(contact.name)}
      </span>
      <div className="contact-body">
        <div className="contact-line">
          <span className="contact-name">{contact.name}</span>
          {contact.published ? <span className="tag">directory</span> : null}
          {mine ? null : <span className="tag owner">by {contact.owner_id}</span>}
        </div>
        <a className="contact-phone" href={`tel:${contact.phone_number}`}>
          {contact.phone_number}
        </a>
        {contact.note ? <p className="contact-note">{contact.note}</p> : null}
      </div>
      {mine ? (
        <div className="contact-actions">
          <button type="button" onClick={() => setDraft(draftOf(contact))}>
            Edit
          </button>
          <button
            type="button"
            className="danger"
            disabled={remove.isPending}
            onClick={() => remove.mutate(contact.id)}
          >
            Delete
          </button>
        </div>
      ) : null}
    </li>
  );
}
