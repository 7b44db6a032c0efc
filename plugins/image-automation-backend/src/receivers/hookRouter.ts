import express from 'express';
import { ReceiverHooks } from './ReceiverHooks';

/**
 * `POST /hook/:digest`, the Receivers' webhook route (unauthenticated: the plugin registers an
 * auth policy for `/hook`). The body is read raw, up to `maxBodyBytes` (413 beyond, before it is
 * read); every answer has an empty body, and an unknown path and a failed signature check get the
 * same one (404), so the route tells nothing about which receivers exist.
 * @internal
 */
export function createHookRouter(options: {
  hooks: ReceiverHooks;
  maxBodyBytes: number;
}): express.Router {
  const { hooks, maxBodyBytes } = options;
  const router = express.Router();
  router.post(
    '/hook/:digest',
    express.raw({ type: () => true, limit: maxBodyBytes, inflate: false }),
    async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const answer = await hooks.handle(req.params.digest, {
        headers: req.headers,
        body,
      });
      res
        .status(answer.status)
        .set(answer.headers ?? {})
        .end();
    },
  );
  router.use(
    '/hook',
    (
      error: any,
      req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      if (error?.type === 'entity.too.large') {
        hooks.tooLarge(req.path.replace(/^\/+/, ''));
        res.status(413).end();
        return;
      }
      // An encoded body (inflate is off), a broken stream: nothing to verify.
      res
        .status(error?.status >= 400 && error.status < 500 ? error.status : 400)
        .end();
    },
  );
  return router;
}
