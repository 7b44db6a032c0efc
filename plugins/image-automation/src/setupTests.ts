import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// The build machines are shared and small; lazy-loaded extensions can take more than the default
// second to appear.
configure({ asyncUtilTimeout: 5000 });
