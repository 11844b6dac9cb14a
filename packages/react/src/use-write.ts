import { type UseMutationResult, useMutation } from '@tanstack/react-query';
import { type BindingContext, useBinding } from './carburetor-provider.tsx';
import { type Helper, helperOf } from './client-helper.ts';
import { CarburetorReactError } from './errors.ts';
import type { WriteOptions } from './types.ts';

/** What a write hook needs to know of its table and helper. */
export interface WriteTarget {
  /** The hook's name, for errors (`useInsertPhoneBook`). */
  readonly hook: string;
  /** The table key (`phone_book`). */
  readonly key: string;
  /** The client's write helper (`insertPhoneBook`). */
  readonly helper: string;
}

/**
 * `useInsert<Table>`, `useUpdate<Table>`, `useDelete<Table>`: a TanStack
 * mutation over the client's write helper. It resolves once the write
 * committed and the live queries that read its table show it.
 */
export function useWrite<TData, TVariables>(
  context: BindingContext,
  target: WriteTarget,
  call: (helper: Helper, variables: TVariables) => Promise<TData>,
  options: WriteOptions<TData, TVariables> | undefined,
): UseMutationResult<TData, Error, TVariables> {
  const binding = useBinding(context, target.hook);
  if (binding.client) helperOf(binding.client, target.hook, target.key, target.helper, true);
  return useMutation<TData, Error, TVariables>(
    {
      networkMode: 'always',
      retry: false,
      ...options,
      mutationFn: async (variables) => {
        if (!binding.ready) {
          throw new CarburetorReactError(
            'no_client',
            `${target.hook}(): there is no sync client yet (<CarburetorProvider client={null}>); give the provider a client before writing.`,
          );
        }
        const client = binding.client ?? (await binding.ready);
        const helper = helperOf(client, target.hook, target.key, target.helper, true);
        const result = await call(helper, variables);
        // Read-your-writes: onSuccess and the awaiting code see the lists with this write.
        await binding.lives.settled(target.key);
        return result;
      },
    },
    binding.queryClient,
  );
}
