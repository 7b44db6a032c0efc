import { useState } from 'react';
import { Alert, Button } from '@backstage/ui';
import { PolledValue } from '../hooks/usePolledValue';
import { errorMessage } from './errorMessage';

/**
 * A section's load error: names what could not be loaded, says whether the data still shown is
 * from an earlier load (stale), and offers Retry. The section keeps rendering its last data.
 * @internal
 */
export function SectionError(props: {
  what: string;
  data: PolledValue<unknown>;
}) {
  const { what, data } = props;
  const [retrying, setRetrying] = useState(false);
  if (!data.error) return null;
  const stale = data.value !== undefined;
  return (
    <Alert
      status="danger"
      role="alert"
      title={`Could not load ${what}${
        stale ? ' — showing the last data loaded, which may be stale' : ''
      }`}
      description={errorMessage(data.error)}
      isPending={retrying}
      customActions={
        <Button
          size="small"
          variant="secondary"
          isDisabled={retrying}
          onPress={async () => {
            setRetrying(true);
            try {
              await data.refresh();
            } finally {
              setRetrying(false);
            }
          }}
        >
          Retry
        </Button>
      }
    />
  );
}
