import type { ChangeBus, ChangeBusHandlers, ChangeBusSubscription } from './change-bus.ts';

/**
 * A bus that publishes on `main` and hears both `main` and `alsoHear`: a
 * Redis bus paired with PostgreSQL's LISTEN, so the notify triggers'
 * messages (writes from outside Carburetor) still reach subscribers. One
 * subscription: when either side breaks, both close and the hub reopens
 * them together (and pokes everyone).
 */
export function pairedBus(main: ChangeBus, alsoHear: ChangeBus): ChangeBus {
  return {
    async subscribe(handlers: ChangeBusHandlers): Promise<ChangeBusSubscription> {
      let lost = false;
      const sides: ChangeBusSubscription[] = [];
      const closeAll = () => Promise.all(sides.map((side) => side.close())).then(() => {});
      const each: ChangeBusHandlers = {
        message: (text) => {
          if (!lost) handlers.message(text);
        },
        lost: (error) => {
          if (lost) return;
          lost = true;
          void closeAll();
          handlers.lost(error);
        },
      };
      try {
        sides.push(await main.subscribe(each));
        sides.push(await alsoHear.subscribe(each));
      } catch (error) {
        lost = true;
        await closeAll();
        throw error;
      }
      return { close: closeAll };
    },
    publish: (message) => main.publish(message),
    ...(main.maxMessageBytes === undefined ? {} : { maxMessageBytes: main.maxMessageBytes }),
    async close() {
      await Promise.all([main.close(), alsoHear.close()]);
    },
  };
}
