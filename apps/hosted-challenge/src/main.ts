// The hosted challenge page behind track's `url` (`/challenge?token=…`). See docs/hosted-challenge.md.
import './styles.css'
import { readLaunch } from './launch.ts'
import { startPage } from './page.ts'

void startPage(readLaunch(window.location, window.history))
